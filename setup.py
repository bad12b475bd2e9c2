"""numdream: DeepDream written from scratch in NumPy, with an optional CuPy backend."""
from setuptools import find_packages, setup

# imageio-ffmpeg ships its own ffmpeg binary; OpenCV (headless: no GUI libraries) estimates the optical
# flow of numdream/flow.py; 4.10 is its first release built for NumPy 2 (tests pass on 4.10.0.84 and 5.0.0.93).
VIDEO = ["imageio>=2.31", "imageio-ffmpeg>=0.4.9", "opencv-python-headless>=4.10"]
DASK = ["dask[distributed]>=2023.1"]
# what executes the notebooks (the tests and tutorials/make_notebooks.py run them too), and JupyterLab
# to open them: `pip install ".[tutorials]"` then `jupyter lab tutorials/`
NOTEBOOKS = ["nbclient>=0.7", "nbformat>=5.7", "ipykernel>=6", "matplotlib>=3.6"]
TUTORIALS = NOTEBOOKS + ["jupyterlab>=4"]

setup(
    name="numdream",
    version="0.1.0",
    description="DeepDream from scratch in NumPy: hand-written layers with explicit backward passes",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9",
    # The converted weights live in the top-level weights/ folder and install as numdream.weights,
    # so `pip install .` and `pip install -e .` both find them without any download.
    packages=find_packages(include=["numdream", "numdream.*"]) + ["numdream.weights"],
    py_modules=["numdream_main"],  # the console script's entry point (why: numdream_main.py)
    package_dir={"numdream.weights": "weights"},
    package_data={"numdream": ["data/*.png", "data/*.jpg", "data/*.txt"], "numdream.weights": ["*.h5", "*.md"]},
    # threadpoolctl: the fast path runs its convolutions on the cores itself and holds BLAS at one
    # thread meanwhile (numdream/fast/threads.py); NumPy has no call for that, threadpoolctl is the
    # standard one for OpenBLAS, MKL and BLIS builds alike (pure Python, no dependencies).
    install_requires=["numpy>=1.22", "scipy>=1.8", "pillow>=9.1", "h5py>=3.6", "tqdm>=4.60",
                      "threadpoolctl>=3.1"],
    extras_require={
        "gpu": ["cupy-cuda12x>=12"],
        "video": VIDEO,
        "dask": DASK,
        "tutorials": TUTORIALS,
        # torch is the autograd oracle of the tests; pin the CPU build this project is tested with.
        # The tests also execute the tutorials and exercise the video and Dask commands.
        "test": ["pytest>=7", "torch==2.13.0"] + VIDEO + DASK + NOTEBOOKS,
    },
    entry_points={"console_scripts": ["numdream=numdream_main:main"]},
)
