"""The code blocks of two of Theano's tutorial pages, doc/tutorial/shape_info.txt and
doc/tutorial/conditions.txt, run with only their import lines changed (and Python 2's print
statements written as calls), and give the documented results (issue 16 item 6, in part).

Where the page documents a Theano shortcoming, ganglion's behaviour is the one the page says
would be right, and the test says so. The conditions page's matrices are 10000 x 1000 there;
here they are smaller, to keep the suite fast (the timing is measured, not asserted: ganglion's
ifelse is lazy, so it does about half the work of switch, as the page says).
"""
import re
from time import perf_counter
from types import SimpleNamespace

import numpy
import numpy as np
import pytest

import ganglion.compat.theano as theano
from ganglion.compat.theano import tensor as T
from ganglion.compat.theano.ifelse import ifelse

# The conditions page times with time.clock, which Python 3.8 removed.
time = SimpleNamespace(clock=perf_counter)


# ----- doc/tutorial/shape_info.txt ----------------------------------------------------------

def test_shape_info_shape_of_an_expression(capsys):
    x = theano.tensor.matrix('x')
    f = theano.function([x], (x ** 2).shape)
    theano.printing.debugprint(f)
    assert "ShapeVector" in capsys.readouterr().out
    # Documented: the shape of x ** 2 is x's, as one vector.
    result = f(numpy.ones((5, 4)))
    assert result.dtype == numpy.int64
    numpy.testing.assert_array_equal(result, [5, 4])


def test_shape_info_join_shape_problem():
    x = theano.tensor.matrix('x')
    y = theano.tensor.matrix('y')
    z = theano.tensor.join(0, x, y)
    xv = numpy.random.rand(5, 4)
    yv = numpy.random.rand(3, 3)

    f = theano.function([x, y], z.shape)
    theano.printing.debugprint(f)
    # The page: "print(f(xv, yv)) # DOES NOT RAISE AN ERROR AS SHOULD BE. [8, 4]". Ganglion
    # computes the join to know its shape, so it raises the error that should be raised.
    with pytest.raises(ValueError, match="dimension 1"):
        f(xv, yv)

    f = theano.function([x, y], z)  # Do not take the shape.
    theano.printing.debugprint(f)
    with pytest.raises(ValueError, match="dimension 1"):
        f(xv, yv)  # Raises a dimensions mismatch error.

    # With matching columns, the shape is the documented sum of the rows.
    numpy.testing.assert_array_equal(theano.function([x, y], z.shape)(xv, numpy.ones((3, 4))), [8, 4])


def test_shape_info_conv2d_with_image_and_filter_shape():
    images, filters = theano.tensor.tensor4("images"), theano.shared(np.ones((2, 3, 4, 4)))
    out = theano.tensor.nnet.conv2d(images, filters, image_shape=(7, 3, 5, 5), filter_shape=(2, 3, 4, 4))
    value = theano.function([images], out)(np.ones((7, 3, 5, 5)))
    assert value.shape == (7, 2, 2, 2) and np.all(value == 48.0)


def test_shape_info_specify_shape(capsys):
    x = theano.tensor.matrix()
    x_specify_shape = theano.tensor.specify_shape(x, (2, 2))
    f = theano.function([x], (x_specify_shape ** 2).shape)
    theano.printing.debugprint(f)
    capsys.readouterr()
    # Documented: the function is the constant [2 2], computed without x.
    numpy.testing.assert_array_equal(f(numpy.ones((2, 2))), [2, 2])
    assert f.maker.fgraph.toposort() == []
    # The declared shape is checked when a function computes with it.
    g = theano.function([x], x_specify_shape ** 2)
    numpy.testing.assert_array_equal(g(numpy.full((2, 2), 3.0)), numpy.full((2, 2), 9.0))
    with pytest.raises(ValueError, match=r"specify_shape: expected a value of shape \(2, 2\)"):
        g(numpy.ones((3, 2)))


# ----- doc/tutorial/conditions.txt ----------------------------------------------------------

def test_conditions_ifelse_vs_switch(capsys):
    a, b = T.scalars('a', 'b')
    x, y = T.matrices('x', 'y')

    z_switch = T.switch(T.lt(a, b), T.mean(x), T.mean(y))
    z_lazy = ifelse(T.lt(a, b), T.mean(x), T.mean(y))

    f_switch = theano.function([a, b, x, y], z_switch,
                               mode=theano.Mode(linker='vm'))
    f_lazyifelse = theano.function([a, b, x, y], z_lazy,
                                   mode=theano.Mode(linker='vm'))

    val1 = 0.
    val2 = 1.
    big_mat1 = numpy.ones((1000, 100))  # the page: (10000, 1000)
    big_mat2 = numpy.ones((1000, 100))

    n_times = 10

    tic = time.clock()
    for i in range(n_times):
        f_switch(val1, val2, big_mat1, big_mat2)
    print('time spent evaluating both values %f sec' % (time.clock() - tic))

    tic = time.clock()
    for i in range(n_times):
        f_lazyifelse(val1, val2, big_mat1, big_mat2)
    print('time spent evaluating one value %f sec' % (time.clock() - tic))

    # The documented output (testoutput with ELLIPSIS).
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"time spent evaluating both values \d+\.\d{6} sec", lines[0])
    assert re.fullmatch(r"time spent evaluating one value \d+\.\d{6} sec", lines[1])
    # Both give mean(x) here; ifelse computes only that branch: the function's own graph has no
    # mean at all (each branch is a program the ifelse node runs), switch computes both.
    assert f_switch(val1, val2, big_mat1, 2 * big_mat2) == 1.0
    assert f_lazyifelse(val1, val2, big_mat1, 2 * big_mat2) == 1.0
    assert f_lazyifelse(val2, val1, big_mat1, 2 * big_mat2) == 2.0
    lazy_ops = [node.op.name for node in f_lazyifelse.maker.fgraph.toposort()]
    switch_ops = [node.op.name for node in f_switch.maker.fgraph.toposort()]
    assert "ifelse" in lazy_ops and "mean" not in lazy_ops
    assert switch_ops.count("mean") == 2
