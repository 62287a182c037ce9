"""Model: versions and their cross-validated metrics, charts, the train curve, retrain with live
progress, promote and roll back."""

import altair as alt
import streamlit as st

from curation.accounts.permissions import can
from curation.display.charts import UNIT, base, heatmap, layered, lines
from curation.display.safe_text import md, table_cells
from curation.enums import JobKind, Permission
from curation.errors import CurationError
from curation.jobs.submit import submit_as
from db.session import session_scope
from models.crossval import train_curve
from models.registry import active_version, describe, promote_as, rollback_as, score_histogram, version_table
from pages.common import current_user, flash, show_flash, show_jobs, show_table

user = current_user()
st.title("Model")
show_flash()


def _retrain() -> None:
    try:
        job, created = submit_as(current_user(), JobKind.TRAIN, {"promote": True})
        flash(f"training as job #{job.id}; it is promoted if its cross-validated F1 is not worse"
              if created else f"job #{job.id} is already training; wait for it")
    except CurationError as exc:
        flash(f"error: {exc}")


def _switch(version_id: int, action: str) -> None:
    try:
        with session_scope() as session:
            if action == "rollback":
                rollback_as(session, current_user(), version_id)
            else:
                promote_as(session, current_user(), version_id)
        flash(f"version {version_id} is now active; run Score to refresh stored scores")
    except CurationError as exc:
        flash(f"error: {exc}")


def _draw_curve() -> None:
    try:
        with session_scope() as session:
            st.session_state["train_curve"] = train_curve(session)["points"]
    except CurationError as exc:
        flash(f"error: {exc}")


with session_scope() as session:
    active = active_version(session)
    scorer = describe(active)
    versions = version_table(session)
    histogram = score_histogram(session, active.id) if active else []
    metrics = (active.metrics.get("cv") or active.metrics.get("holdout") or {}) if active else {}

st.info(md(f"Scorer in use: {scorer}"))
st.button("Retrain now", type="primary", on_click=_retrain, disabled=not can(user, Permission.RETRAIN))
show_jobs((JobKind.TRAIN, JobKind.REFIT, JobKind.RESCORE, JobKind.SCORE))
with st.expander("Do more labels still help? The train curve"):
    st.button("Draw the train curve", on_click=_draw_curve)
    if curve_points := st.session_state.get("train_curve"):
        means = lines(curve_points, "n_labels:Q", "f1_mean:Q", "Cross-validated F1 at 25/50/75/100% of the labels",
                      x_title="labels used", y_title="F1 (mean over seeds)", tooltip=["f1_std:Q"])
        spread = means.mark_errorbar().encode(yError="f1_std:Q")
        st.altair_chart(layered(means, spread), width="stretch")

if not versions:
    st.info("No model versions yet. Label a few items of each label on the Queue page (or import "
            "a labelled file), then press Retrain.")
    st.stop()

trained = [v for v in versions if v["f1"] is not None]
newest = versions[-1]
if active and newest["version"] != active.id and newest["f1"] is not None:
    st.subheader("Newest version beside the active one", anchor=False)
    st.table(table_cells([newest, next(v for v in versions if v["version"] == active.id)]), hide_index=True)
st.subheader("Versions", anchor=False)
show_table(versions[::-1], "versions-page", page_rows=20)

left, right = st.columns(2)
if trained:
    left.altair_chart(lines(trained, "version:O", ["f1", "precision", "recall"],
                            "Cross-validated metrics per version"), width="stretch")
if any(row["items"] for row in histogram):
    right.altair_chart(base(histogram, "Scores of the active model").mark_bar().encode(
        x=alt.X("from:Q", bin=alt.Bin(binned=True, step=1 / len(histogram)), title="probability of the positive label",
                scale=alt.Scale(domain=[0, 1])), x2="to:Q", y="items:Q",
        tooltip=["from:Q", "to:Q", "items:Q"]), width="stretch")
if curve := metrics.get("pr_curve"):
    left.altair_chart(lines(curve, "recall:Q", "precision:Q", "Precision-recall, out of fold", x_domain=UNIT,
                            tooltip=["threshold:Q"], order="threshold:Q"), width="stretch")
if matrix := metrics.get("confusion_matrix"):
    cells = [{"labelled": f"labelled {truth}", "predicted": f"predicted {guess}", "items": matrix[key]}
             for truth, guess, key in (("positive", "positive", "tp"), ("positive", "negative", "fn"),
                                       ("negative", "positive", "fp"), ("negative", "negative", "tn"))]
    right.altair_chart(heatmap(cells, "predicted:N", "labelled:N", "items", "Confusion matrix, out of fold"),
                       width="stretch")

if can(user, Permission.ROLLBACK):
    st.subheader("Switch the active version", anchor=False)
    others = [v["version"] for v in versions if not v["active"]]
    if others:
        chosen = st.selectbox("Version", others[::-1])
        one, two = st.columns(2)
        one.button("Roll back to it", on_click=_switch, args=(chosen, "rollback"))
        two.button("Promote it (skip the gate)", on_click=_switch, args=(chosen, "promote"))
