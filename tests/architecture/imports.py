"""Read the project's imports from its source (ast, no importing) and find cycles between modules."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APPS = ("accounts", "analytics", "billing", "cachestore", "optera", "proxy")


def module_files(root=REPO, packages=APPS):
    """Return {dotted module name: path} of the packages' modules, migrations left out."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_modules(path, module_name, known):
    """Return the known modules that `path` imports, at module level or inside functions.

    Imports under `if TYPE_CHECKING:` never run, so they are left out. `from package import name`
    counts as importing `package.name` when that is a module, else `package`.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(_longest_known(alias.name, known))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module_name, is_package)
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                found.add(candidate if candidate in known else _longest_known(base, known))
    found.discard(None)
    found.discard(module_name)
    return found


def _runtime_nodes(tree):
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(node, module_name, is_package):
    if not node.level:
        return node.module or ""
    package_parts = module_name.split(".") if is_package else module_name.split(".")[:-1]
    base_parts = package_parts[: len(package_parts) - (node.level - 1)]
    return ".".join(base_parts + ([node.module] if node.module else []))


def _longest_known(name, known):
    parts = name.split(".") if name else []
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def import_graph(root=REPO, packages=APPS):
    modules = module_files(root, packages)
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def cycles(graph):
    """Return the strongly connected groups of more than one module (Tarjan), each sorted."""
    index_of, lowlink, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(start):
        # Iterative depth-first search: the graph may be deeper than Python's recursion limit.
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index_of[start] = lowlink[start] = len(index_of)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, neighbours = work[-1]
            advanced = False
            for neighbour in neighbours:
                if neighbour not in index_of:
                    index_of[neighbour] = lowlink[neighbour] = len(index_of)
                    stack.append(neighbour)
                    on_stack.add(neighbour)
                    work.append((neighbour, iter(sorted(graph.get(neighbour, ())))))
                    advanced = True
                    break
                if neighbour in on_stack:
                    lowlink[node] = min(lowlink[node], index_of[neighbour])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index_of[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index_of:
            visit(node)
    return sorted(groups)
