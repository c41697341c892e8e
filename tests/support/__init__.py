"""Helpers shared by the test suite: real servers started on loopback for the tests that need them."""
