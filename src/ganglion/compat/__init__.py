"""Compatibility layers that let code written for other frameworks run on ganglion with only its
import lines changed (``ganglion.compat.theano``)."""
