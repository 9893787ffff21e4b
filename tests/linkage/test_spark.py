"""The same engine code on Spark (local mode): the clusters agree with DuckDB's for the same records and model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from homeward.linkage.engine import model as m
from homeward.linkage.engine.evaluate import evaluate
from homeward.linkage.engine.prepare import read_records
from homeward.linkage.engine.run import bundled_model, link_records
from homeward.synth.community import write_community

# No database: run once, not again in the PostgreSQL pass.
pytestmark = pytest.mark.database_free


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from pyspark.sql import SparkSession
    from splink.internals.spark.jar_location import similarity_jar_location

    session = (
        SparkSession.builder.master("local[2]")
        .appName("homeward-linkage-test")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.jars", similarity_jar_location())
        .config("spark.local.dir", str(tmp_path_factory.mktemp("spark-local")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # Splink breaks long lineages by checkpointing: it needs a checkpoint folder.
    session.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("spark-checkpoints")))
    try:
        yield session
    finally:
        session.stop()


def test_spark_and_duckdb_give_the_same_clusters(spark: Any, tmp_path: Path) -> None:
    paths = write_community(tmp_path, records=2_500, seed=21)
    records = read_records(paths["records"])
    model = bundled_model()  # saved on DuckDB: the engine rewrites its SQL for Spark
    on_spark = link_records(records, backend=m.Backend.spark(spark), model=model)
    on_duckdb = link_records(records, backend=m.Backend.duckdb(), model=model)
    spark_clusters = {row["record_id"]: str(row["cluster_id"]) for row in on_spark.clusters.to_pylist()}
    duckdb_clusters = {row["record_id"]: str(row["cluster_id"]) for row in on_duckdb.clusters.to_pylist()}
    assert len(spark_clusters) == len(duckdb_clusters) == 2_500
    assert spark_clusters.keys() == duckdb_clusters.keys()
    agreement = evaluate(spark_clusters, duckdb_clusters)
    assert agreement.predicted_pairs > 500  # the records do link: agreement is not between two empty results
    assert agreement.pair_f1 >= 0.99, agreement.as_dict()
    assert on_spark.pairs.num_rows == pytest.approx(on_duckdb.pairs.num_rows, rel=0.01)
