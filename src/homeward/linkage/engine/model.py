"""The linkage model: Splink (Fellegi-Sunter) on DuckDB, or on Spark for data beyond one machine. No Django.

Records are compared on their normalised columns (``prepare.FEATURES``): names on their folded roots,
with term-frequency adjustment (a match on a rare name says more than one on a common name), phonetic
keys for renderings that spell differently, and a swapped given name and surname counted only when the
birth years agree too (surnames are often built from given names, so a swap alone proves nothing).
Birth dates compare at the precision both records have. Blocking keeps the candidate pairs selective as
the data grows: every rule pairs a name key with a birth year or with another name key.

Training is unsupervised: u by random sampling, m by EM on capped samples of two blocking passes. A
trained model is saved as Splink's JSON and reused without training.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.internals.exceptions import SplinkException

from homeward.linkage.engine.prepare import BlockRule, Prepared, add_block_keys, prepare

log = logging.getLogger("homeward.linkage")

# Match probabilities: in the registry, at or above SURE a pair is merged without review; between REVIEW
# and SURE it waits for a reviewer; below REVIEW it is dropped. Linking a file joins clusters at REVIEW,
# where (with the clustering's checks) precision and recall balance best on the synthetic community.
SURE = 0.95
REVIEW = 0.5


# The levels' labels, shown to reviewers as the evidence (and translated there).
SAME = "the same"
NEARLY = "nearly the same spelling"
SOUND = "the same sound (phonetic key)"
SIMILAR = "similar spelling"
SWAPPED = "given name and surname swapped, same birth year"
DIFFERENT = "different"


def _custom(sql: str, *, label_for_charts: str) -> Any:
    """A level written in DuckDB's SQL: Splink translates it for other backends (Spark reads "x" as text)."""
    return cll.CustomLevel(sql, label_for_charts=label_for_charts, base_dialect_str="duckdb")


def _name(column: str, *, swap_column: str, label: str) -> Any:
    return cl.CustomComparison(
        output_column_name=column,
        comparison_description=label,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(tf_adjustment_column=column, label_for_charts=SAME),
            cll.JaroWinklerLevel(column, 0.94).configure(label_for_charts=NEARLY),
            _custom(f'"{column}_key_l" = "{column}_key_r"', label_for_charts=SOUND),
            cll.JaroWinklerLevel(column, 0.85).configure(label_for_charts=SIMILAR),
            # Too rare among random pairs for sampling to see: its chance agreement is set, not estimated.
            _custom(
                f'("{column}_l" = "{swap_column}_r" OR "{swap_column}_l" = "{column}_r") '
                f'AND "birth_year_l" = "birth_year_r"',
                label_for_charts=SWAPPED,
            ).configure(u_probability=1e-5, fix_u_probability=True),
            cll.ElseLevel().configure(label_for_charts=DIFFERENT),
        ],
    )


def _patronymic() -> Any:
    return cl.CustomComparison(
        output_column_name="patronymic",
        comparison_description="father's given name",
        comparison_levels=[
            cll.NullLevel("patronymic"),
            cll.ExactMatchLevel("patronymic").configure(tf_adjustment_column="patronymic", label_for_charts=SAME),
            _custom('"patronymic_key_l" = "patronymic_key_r"', label_for_charts=SOUND),
            cll.JaroWinklerLevel("patronymic", 0.85).configure(label_for_charts=SIMILAR),
            cll.ElseLevel().configure(label_for_charts=DIFFERENT),
        ],
    )


def _birth() -> Any:
    same_year = '"birth_year_l" = "birth_year_r"'
    same_day = '"birth_month_l" = "birth_month_r" AND "birth_day_l" = "birth_day_r"'
    partial = '("birth_day_l" IS NULL OR "birth_day_r" IS NULL)'
    near = 'abs("birth_year_l" - "birth_year_r") = 1'
    return cl.CustomComparison(
        output_column_name="birth",
        comparison_description="birth date, at the precision both records have",
        comparison_levels=[
            cll.NullLevel("birth_year"),
            _custom('"birth_date_l" = "birth_date_r"', label_for_charts="same date"),
            _custom(
                f'{same_year} AND "birth_month_l" = "birth_day_r" AND "birth_day_l" = "birth_month_r"',
                label_for_charts="day and month swapped",
            ),
            _custom(f"{near} AND {same_day}", label_for_charts="the year one off, same day"),
            _custom(f"{same_year} AND {partial}", label_for_charts="same year, a date partial"),
            _custom(f"{near} AND {partial}", label_for_charts="one year apart, a date partial"),
            _custom(same_year, label_for_charts="same year, different days"),
            # Dates that differ beyond the usual clerical slips are far more often a namesake relative
            # (siblings and cousins named after one grandparent) than the same person; EM on name blocks
            # cannot tell the two apart and would learn the relatives as matches, so these levels' shares
            # among matches are set, not learned.
            _custom('abs("birth_year_l" - "birth_year_r") <= 3', label_for_charts="up to three years").configure(
                m_probability=0.004, fix_m_probability=True
            ),
            cll.ElseLevel().configure(
                m_probability=0.001, fix_m_probability=True, label_for_charts="years further apart"
            ),
        ],
    )


def _document() -> Any:
    return cl.CustomComparison(
        output_column_name="document",
        comparison_description="document number",
        comparison_levels=[
            cll.NullLevel("document"),
            cll.ExactMatchLevel("document").configure(label_for_charts=SAME),
            cll.JaroWinklerLevel("document", 0.9).configure(label_for_charts=NEARLY),
            cll.ElseLevel().configure(label_for_charts=DIFFERENT),
        ],
    )


def _exact(column: str, label: str, *, tf: bool = False) -> Any:
    exact: Any = cll.ExactMatchLevel(column).configure(label_for_charts=SAME)
    if tf:
        exact = exact.configure(tf_adjustment_column=column)
    return cl.CustomComparison(
        output_column_name=column,
        comparison_description=label,
        comparison_levels=[cll.NullLevel(column), exact, cll.ElseLevel().configure(label_for_charts=DIFFERENT)],
    )


# Each rule pairs a name key with a birth year or two name keys: common names stay in small blocks. The
# rules on a place serve only records without a birth date, the pairs the dated rules cannot reach.
PREDICT_BLOCKING = (
    BlockRule(("name_pair_key", "birth_year")),  # both names (either order) and the year
    BlockRule(("given_key", "patronymic_key", "birth_year")),  # a changed surname (marriage, dropped -ov)
    BlockRule(("surname_key", "patronymic_key", "birth_year")),  # a misspelt given name
    BlockRule(("given_key", "surname_key", "patronymic_key")),  # a wrong or missing birth year
    BlockRule(("given_key", "birth_date")),  # a changed surname and no patronymic
    BlockRule(("surname_key", "birth_date")),  # a misspelt given name and no patronymic
    BlockRule(("given_key", "surname_key", "birth_month", "birth_day")),  # a wrong birth year
    BlockRule(("given_key", "surname_key", "birth_place"), missing="birth_year"),  # no birth date
    BlockRule(("given_key", "surname_key", "origin"), missing="birth_year"),  # no birth date
    BlockRule(("given_key", "patronymic_key", "birth_place"), missing="birth_year"),  # no date, new surname
    BlockRule(("given_key", "surname_key", "city"), missing="birth_year"),  # no date, no birth place
    BlockRule(("patronymic_key", "birth_date")),  # a new surname and a misspelt given name
    BlockRule(("birth_date", "city")),  # both names misspelt or changed
    BlockRule(("document_key",)),  # the same document number (digits swapped or not), whatever the names
)
# Near-certain pairs, for the share of matching pairs: the same names and full birth date, or the same
# document number and birth year.
DETERMINISTIC = (
    BlockRule(("given", "surname", "birth_date")),
    BlockRule(("document", "birth_year")),
)
# EM training: one rule of each group (the first that finds pairs), and the document numbers when there are.
TRAINING_BLOCKS = (
    (("given_key", "surname_key", "patronymic_key"), ("given_key", "surname_key", "birth_year")),
    (("birth_date", "sex"), ("birth_date",)),
    (("document",),),
)
# Every rule blocks on prepared key columns (``prepare.add_block_keys``), so no key can grow a block
# beyond ``prepare.MAX_BLOCK`` records, whatever the data (100,000 copies of one person included).
ALL_RULES = (*PREDICT_BLOCKING, *DETERMINISTIC)


def _blocks(rule: BlockRule) -> list[Any]:
    key = f"block_{ALL_RULES.index(rule)}"
    if rule.missing is None:
        return [block_on(key)]
    # Splink compares each pair once, with either record on the left: both directions are needed.
    return [f'l."{key}_missing" = r."{key}"', f'l."{key}" = r."{key}_missing"']


def features(records: pa.Table) -> Prepared:
    """The compared columns and the blocking keys of person records (see ``prepare.read_records``)."""
    prepared = prepare(records)
    prepared.table = add_block_keys(prepared.table, ALL_RULES, unusable=prepared.unusable)
    return prepared


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=1e-6,
        comparisons=[
            _name("given", swap_column="surname_as_given", label="given name"),
            _name("surname", swap_column="given_as_surname", label="surname (root)"),
            _patronymic(),
            _birth(),
            _exact("sex", "sex"),
            # No term-frequency adjustment here: a rare village is rare in the whole registry but shared by
            # every relative from it, so agreeing on it says less than its rarity suggests.
            _exact("origin", "origin settlement"),
            _exact("birth_place", "birth place"),
            # Where the person lives now: people move, but a rare country shared says something.
            _exact("country", "country of residence", tf=True),
            _exact("city", "city of residence", tf=True),
            _document(),
        ],
        blocking_rules_to_generate_predictions=[b for rule in PREDICT_BLOCKING for b in _blocks(rule)],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        max_iterations=20,
        em_convergence=0.001,
    )


DUCKDB_MEMORY = "1.5GB"


@dataclass
class Backend:
    """Where Splink runs: a DuckDB database (default) or a Spark session."""

    api: Any

    @classmethod
    def duckdb(cls, *, threads: int | None = None, memory_limit: str | None = DUCKDB_MEMORY) -> Backend:
        """An in-process DuckDB database; beyond ``memory_limit`` it spills to temporary files, so that the
        pairs of a large file do not crowd out the clustering that follows in the same process."""
        import atexit
        import shutil
        import tempfile

        import duckdb
        from splink import DuckDBAPI

        connection = duckdb.connect()
        # Spilled pairs hold personal data: a private folder, removed when the process ends, not the cwd.
        spill = tempfile.mkdtemp(prefix="homeward-duckdb-")
        atexit.register(shutil.rmtree, spill, True)
        connection.execute("SET temp_directory = ?", [spill])
        if threads:
            connection.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            connection.execute("SET memory_limit = ?", [memory_limit])
        connection.execute("SET preserve_insertion_order = false")
        return cls(DuckDBAPI(connection=connection))

    @classmethod
    def spark(cls, session: Any, *, checkpoints: str | None = None) -> Backend:
        import tempfile

        from splink import SparkAPI

        # Splink breaks long query plans with checkpoints: a session without a folder for them fails.
        if not session.sparkContext.getCheckpointDir():
            session.sparkContext.setCheckpointDir(checkpoints or tempfile.mkdtemp(prefix="homeward-spark-"))

        return cls(SparkAPI(spark_session=session))  # type: ignore[no-untyped-call]

    @property
    def is_spark(self) -> bool:
        return type(self.api).__name__ == "SparkAPI"

    def register(self, table: pa.Table) -> Any:
        if self.is_spark:
            return self.api.register(self.api.spark.createDataFrame(table.to_pandas()))
        return self.api.register(table)


def _quiet() -> None:
    # Splink reports each training step and untrained parameters at WARNING; the run's notices say what matters.
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


Step = Callable[[str], None]


def new_linker(backend: Backend, prepared: pa.Table, model: Path | dict[str, Any] | None = None) -> Linker:
    """A linker over the prepared records: a fresh, untrained model, or a saved one (JSON path or dict)."""
    _quiet()
    frame = backend.register(prepared)
    if model is None:
        return Linker(frame, settings())
    loaded = json.loads(Path(model).read_text(encoding="utf-8")) if isinstance(model, Path) else model
    return Linker(frame, loaded)


def train(
    linker: Linker, *, records: int, seed: int = 42, step: Step | None = None, present: set[str] | None = None
) -> None:
    """Unsupervised training: the prior from near-certain pairs, u by sampling, m by EM (capped pairs)."""
    say = step or (lambda message: None)
    say("estimating the share of matching pairs")
    linker.training.estimate_probability_two_random_records_match(
        [b for rule in DETERMINISTIC for b in _blocks(rule)], recall=0.7
    )
    say("estimating how often values agree by chance (u)")
    linker.training.estimate_u_using_random_sampling(max_pairs=min(5e6, max(1e5, records * 5.0)), seed=seed)
    prior = linker._settings_obj._probability_two_random_records_match
    if present is not None and "document" in present:
        # Document numbers are a person's own: where a file has them, EM can tell a namesake relative from the
        # same person, and learns how often a match's birth dates lie years apart instead of taking it as set.
        for comparison in linker._settings_obj.comparisons:
            if comparison.output_column_name == "birth":
                for level in comparison.comparison_levels:
                    level._fix_m_probability = False
    trained = 0
    for choices in TRAINING_BLOCKS:
        # The first rule of each group that finds pairs in these records (a file without patronymics
        # trains on the names and the birth year instead).
        for rule in choices:
            if present is not None and not set(rule) <= present:
                continue  # a column without any value (no document numbers in this file, say)
            say(f"estimating how often matches agree (m), blocked on {', '.join(rule)}")
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    # The rule's own columns (not its key column): EM then knows which comparisons the block
                    # fixes and leaves their m alone. ``max_pairs`` samples both sides, so crowded keys stay
                    # affordable.
                    block_on(*rule),
                    max_pairs=2e6,
                    estimate_without_term_frequencies=True,
                )
            except SplinkException as exc:
                log.info("no training on %s: %s", rule, str(exc).splitlines()[0] if str(exc) else exc)
                continue
            trained += 1
            break
    if trained < 2:
        raise SplinkException("too few agreeing pairs in these records to learn from")
    # The share of matching pairs comes from the near-certain pairs, not from the EM blocks.
    linker._settings_obj._probability_two_random_records_match = prior
    _discount_matches_in_u(linker, prior)


# How far the correction below may lower a level's chance agreement (a factor of 100: 6.6 bits at most).
U_FLOOR_FACTOR = 0.01


def _discount_matches_in_u(linker: Linker, prior: float) -> None:
    """Random pairs are not all non-matches: a share ``prior`` of them match, and agree on a level as often as
    matches do (m). Sampling counts those agreements as chance ones, which in a small file (a few thousand
    records, where one pair in a few thousand matches) makes the most telling levels (the same document
    number, the same full birth date) look far commoner by chance than they are. The expected matching share
    is taken back out of u: u' = (u - prior * m) / (1 - prior), kept above a floor, the levels renormalised.
    In a large file the prior is tiny and this changes nothing."""
    for comparison in linker._settings_obj.comparisons:
        levels = [level for level in comparison.comparison_levels if not level.is_null_level]
        if any(level._fix_u_probability for level in levels):
            continue
        u = [level.u_probability for level in levels]
        m = [level.m_probability for level in levels]
        if any(value is None for value in u) or any(value is None for value in m):
            continue
        corrected = [
            max((ui - prior * mi) / (1 - prior), ui * U_FLOOR_FACTOR)  # type: ignore[operator]
            for ui, mi in zip(u, m, strict=True)
        ]
        total = sum(corrected)
        for level, value in zip(levels, corrected, strict=True):
            level.u_probability = value / total


def model_json(linker: Linker) -> dict[str, Any]:
    return linker.misc.save_model_to_json()


def save_model(linker: Linker, path: Path) -> None:
    path.write_text(json.dumps(model_json(linker), indent=1), encoding="utf-8")


def chunks_for(records: int) -> int:
    """Predict in chunks so the pairs of one chunk stay well inside memory (about 250,000 records each)."""
    return max(1, math.ceil(records / 250_000))


def predict(linker: Linker, *, records: int, threshold: float = REVIEW) -> Any:
    """Scored candidate pairs at or above ``threshold`` (a Splink dataframe)."""
    chunks = chunks_for(records)
    if chunks == 1:
        return linker.inference.predict(threshold_match_probability=threshold)
    return linker.inference.predict(threshold_match_probability=threshold, num_chunks_left=chunks, num_chunks_right=1)


def cluster(linker: Linker, pairs: Any, *, threshold: float = SURE) -> Any:
    return linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, threshold_match_probability=threshold)
