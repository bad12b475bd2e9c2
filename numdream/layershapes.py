"""What size each layer of a model takes for an input size, and the smallest input that fits.

Model inherits these: they read only its graph (``graph``, ``nodes``, ``aliases``, ``layers``,
``layer_names``, ``name``, ``needed``), and every command checks sizes with them before any work.
"""
from . import nodes
from .errors import NumdreamError


class LayerShapes:
    """output_shapes / min_input_size for a Model (see numdream/model.py)."""

    def output_shapes(self, in_hw, until=None):
        """{name: (H, W)} of every node needed for ``until`` (all nodes if None) at input size in_hw.

        Raises NumdreamError if the input is too small for some window.
        """
        names = self.needed(until) if until else [n.name for n in self.graph]
        hw = {}
        for name in names:
            node = self.nodes[name]
            try:
                hw[name] = tuple(in_hw) if node.op == "input" else self._output_hw(node, hw)
            except ValueError as err:
                if node.op == "dense":  # a classifier reads a fixed number of values
                    raise NumdreamError(f"input of {in_hw[0]}x{in_hw[1]} (HxW) does not fit "
                                        f"{self.name}: {err}") from None
                smallest = self.min_input_size(until)
                raise NumdreamError(
                    f"input of {in_hw[0]}x{in_hw[1]} (HxW) is too small for {self.name} up to "
                    f"{', '.join(until or [self.layer_names[-1]])}: the minimum is "
                    f"{smallest}x{smallest}") from None
        for alias in set(until or []) & set(self.aliases):
            hw[alias] = hw[self.aliases[alias]]
        return hw

    def min_input_size(self, until=None):
        """The smallest square input side (up to 4096) that every needed window fits in and
        that gives every needed dense node exactly the number of values it reads.

        Found by bisection, about 13 passes over the nodes instead of one per side: every op's
        output size is a non-decreasing function of its input size (floor((in + pad - k) / s) + 1,
        ceil(in / s) for 'same', Caffe's ceil mode counts window starts below two bounds that
        grow with in; global pools and dense nodes give 1), so "every window fits and every dense
        node gets at least its K values" holds from some side on. A dense node needs exactly K:
        its count only grows, so if the smallest such side gives some dense node more than K,
        no larger side can fit (the non-monotone case of fixed classifier heads).
        """
        names = self.needed(until) if until else self.layer_names
        low, high = 1, 4096
        if self._fit_at(names, high) is None:
            raise NumdreamError(f"model {self.name!r} fits no input up to {high} pixels")
        while low < high:  # invariant: _fit_at(high) holds
            mid = (low + high) // 2
            low, high = (low, mid) if self._fit_at(names, mid) is not None else (mid + 1, high)
        too_many = self._fit_at(names, high)
        if too_many:
            raise NumdreamError(f"model {self.name!r} fits no input up to 4096 pixels: dense node "
                                f"{too_many[0]!r} gets fewer values than it reads below {high}x{high} "
                                "(or a window does not fit) and more from there on")
        return high

    def _fit_at(self, names, side):
        """At a side x side input: None if a window does not fit or a dense node gets fewer
        values than it reads, else the list of dense nodes that get more (empty: it fits)."""
        hw, too_many = {}, []
        for name in names:
            node = self.nodes[name]
            if node.op == "input":
                hw[name] = (side, side)
                continue
            try:  # without channel counts, output_hw leaves a dense node's count to us
                hw[name] = nodes.output_hw(node, [hw[s] for s in node.inputs])
            except ValueError:
                return None
            if node.op == "dense":
                (h, w), src = hw[node.inputs[0]], node.inputs[0]
                count, wanted = self.layers[src].channels * h * w, node.params["w"].shape[1]
                if count < wanted:
                    return None
                if count > wanted:
                    too_many.append(name)
        return too_many

    def _output_hw(self, node, hw):
        """(H, W) of a node's output from hw, the sizes of the nodes before it."""
        return nodes.output_hw(node, [hw[s] for s in node.inputs],
                                [self.layers[s].channels for s in node.inputs])
