"""No two modules of the project import each other, directly or round a loop (function-level imports count)."""

from tests.architecture.imports import cycles, import_graph


def test_no_module_imports_itself_round_a_loop():
    assert cycles(import_graph()) == []


def test_the_walker_finds_a_loop_through_a_function_level_import(tmp_path):
    package = tmp_path / "proxy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("from proxy import second\n")
    (package / "second.py").write_text("def later():\n    from .third import thing\n")
    (package / "third.py").write_text("import proxy.first\nthing = 1\n")
    (package / "typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from proxy import first\n"
    )
    (package / "leaf.py").write_text("from proxy.typed import TYPE_CHECKING\n")

    graph = import_graph(root=tmp_path, packages=("proxy",))

    assert graph["proxy.typed"] == set()
    assert cycles(graph) == [["proxy.first", "proxy.second", "proxy.third"]]
