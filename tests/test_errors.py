import pytest

from mesa_batch.errors import (
    ConfigurationError,
    DesignError,
    MesaBatchError,
    ModelClassError,
    ParameterError,
    problem,
)


def test_problem_names_what_rule_received_and_fix():
    message = problem("max_steps", "must be a positive int", 0, "Pass e.g. 100.")
    assert message == "max_steps must be a positive int; received 0. Pass e.g. 100."


def test_problem_without_fix_and_long_values_are_shortened():
    message = problem("x", "must be short", "a" * 500)
    assert message.startswith("x must be short; received 'aaaa")
    assert len(message) < 150


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ConfigurationError, ValueError),
        (ParameterError, ValueError),
        (DesignError, ValueError),
        (ModelClassError, TypeError),
    ],
)
def test_errors_are_mesa_batch_errors_and_builtin_errors(error, builtin):
    assert issubclass(error, MesaBatchError)
    assert issubclass(error, builtin)
