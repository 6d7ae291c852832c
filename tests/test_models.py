import pytest

from mesa_batch.errors import ModelClassError, ParameterError
from mesa_batch.models import SeedArgument, check_model_class, inspect_model, model_path
from tests.conftest import HAS_SCENARIO, needs_scenario
from tests.models import (
    KwargsModel,
    MoneyModel,
    NoInitModel,
    NotAModel,
    SeedModel,
    UnseedableModel,
)


def test_keyword_model_accepts_its_init_names():
    signature = inspect_model(MoneyModel)
    assert signature.accepted_names == {"n", "width", "height"}
    assert signature.seed_argument is SeedArgument.RNG
    assert signature.scenario_cls is None
    signature.check_names(["n", "width"])
    with pytest.raises(
        ParameterError,
        match=r"parameters\['widht'\] is not accepted by MoneyModel; received 'widht'\. "
        r"Accepted names: 'height', 'n', 'width'\. Did you mean 'width'\?",
    ):
        signature.check_names(["n", "widht"])


def test_seed_kwargs_and_inherited_init():
    assert inspect_model(SeedModel).seed_argument is SeedArgument.SEED
    kwargs = inspect_model(KwargsModel)
    assert kwargs.accepts_any_name
    kwargs.check_names(["anything"])
    no_init = inspect_model(NoInitModel)
    assert no_init.accepts_any_name
    assert no_init.seed_argument is SeedArgument.RNG
    assert inspect_model(UnseedableModel).seed_argument is None


@pytest.mark.parametrize("name", ["rng", "seed", "scenario"])
def test_reserved_names_are_refused(name):
    with pytest.raises(ParameterError, match=rf"\['{name}'\] is reserved.*seed=\.\.\. instead"):
        inspect_model(KwargsModel).check_names([name], where="parameters")


def test_non_string_names_are_refused():
    with pytest.raises(ParameterError, match="parameters name must be a str; received 1"):
        inspect_model(MoneyModel).check_names([1])


@pytest.mark.parametrize("bad", [NotAModel, MoneyModel(), "MoneyModel", 3])
def test_model_class_must_be_a_mesa_model(bad):
    with pytest.raises(ModelClassError, match=r"model_cls must be a subclass of mesa\.Model"):
        check_model_class(bad)


def test_instance_error_suggests_the_class():
    with pytest.raises(ModelClassError, match=r"type\(model\) = MoneyModel, not an instance"):
        inspect_model(MoneyModel())


def test_model_path_is_the_import_path():
    assert model_path(MoneyModel) == "tests.models:MoneyModel"


def test_mesa_example_models(boltzmann):
    signature = inspect_model(boltzmann)
    assert signature.accepted_names == {"n", "width", "height"}
    if HAS_SCENARIO:
        assert signature.seed_argument is SeedArgument.SCENARIO
        assert signature.scenario_cls.__name__ == "BoltzmannScenario"
        assert "BoltzmannScenario" in signature.describe()
    else:  # Mesa 3.3: keyword parameters and seed=
        assert signature.seed_argument is SeedArgument.SEED


@needs_scenario
def test_scenario_found_in_the_models_module():
    from tests.scenario_models.single import SingleModel, SingleScenario

    signature = inspect_model(SingleModel)
    assert signature.scenario_cls is SingleScenario
    assert signature.accepted_names == {"n", "density"}


@needs_scenario
def test_scenario_found_from_annotation_or_default():
    from tests.scenario_models.annotated import (
        AnnotatedModel,
        AnnotatedScenario,
        DefaultModel,
        OtherScenario,
    )

    signature = inspect_model(AnnotatedModel)
    assert signature.scenario_cls is AnnotatedScenario
    assert signature.accepted_names == {"n", "speed", "width"}  # inherited field, init kwarg
    assert inspect_model(DefaultModel).scenario_cls is OtherScenario


@needs_scenario
def test_ambiguous_scenario_needs_scenario_cls():
    from tests.scenario_models.ambiguous import AmbiguousModel, SecondScenario

    with pytest.raises(
        ModelClassError,
        match=r"Scenario of AmbiguousModel must be unambiguous.*FirstScenario, SecondScenario"
        r".*scenario_cls=",
    ):
        inspect_model(AmbiguousModel)
    assert inspect_model(AmbiguousModel, SecondScenario).accepted_names == {"b"}


@needs_scenario
def test_scenario_cls_must_be_a_scenario():
    from tests.scenario_models.single import SingleModel

    with pytest.raises(ModelClassError, match=r"scenario_cls must be a subclass of .*Scenario"):
        inspect_model(SingleModel, dict)


@needs_scenario
def test_all_mesa_scenario_examples_are_understood():
    from mesa.examples import Schelling, WolfSheep

    assert "homophily" in inspect_model(Schelling).accepted_names
    assert "initial_sheep" in inspect_model(WolfSheep).accepted_names
