"""Model: versions and their cross-validated metrics, charts, the train curve, retrain with live
progress, promote and roll back."""

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from curation.accounts.permissions import can
from curation.display.safe_text import md
from curation.enums import JobKind, Permission
from curation.errors import CurationError
from curation.jobs.submit import submit_as
from db.session import session_scope
from models.crossval import train_curve
from models.registry import active_version, describe, promote_as, rollback_as, score_histogram, version_table
from pages.common import current_user, flash, show_flash, show_jobs

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
        st.plotly_chart(px.line(curve_points, x="n_labels", y="f1_mean", error_y="f1_std", markers=True,
                                title="Cross-validated F1 at 25/50/75/100% of the labels", range_y=[0, 1.05],
                                labels={"n_labels": "labels used", "f1_mean": "F1 (mean over seeds)"}),
                        use_container_width=True)

if not versions:
    st.info("No model versions yet. Label a few items of each label on the Queue page (or import "
            "a labelled file), then press Retrain.")
    st.stop()

trained = [v for v in versions if v["f1"] is not None]
newest = versions[-1]
if active and newest["version"] != active.id and newest["f1"] is not None:
    st.subheader("Newest version beside the active one", anchor=False)
    st.dataframe([newest, next(v for v in versions if v["version"] == active.id)], hide_index=True)
st.subheader("Versions", anchor=False)
st.dataframe(versions[::-1], hide_index=True, use_container_width=True)

left, right = st.columns(2)
if trained:
    left.plotly_chart(px.line(trained, x="version", y=["f1", "precision", "recall"], markers=True,
                              title="Cross-validated metrics per version", range_y=[0, 1.05]),
                      use_container_width=True)
if any(row["items"] for row in histogram):
    right.plotly_chart(px.bar(histogram, x="from", y="items", range_x=[0, 1], title="Scores of the active model",
                              labels={"from": "probability of the positive label"}).update_traces(
                                  width=1 / len(histogram), offset=0), use_container_width=True)
if curve := metrics.get("pr_curve"):
    left.plotly_chart(px.line(curve, x="recall", y="precision", markers=True, hover_data=["threshold"],
                              title="Precision-recall, out of fold", range_x=[0, 1.05], range_y=[0, 1.05]),
                      use_container_width=True)
if matrix := metrics.get("confusion_matrix"):
    grid = [[matrix["tp"], matrix["fn"]], [matrix["fp"], matrix["tn"]]]
    figure = go.Figure(go.Heatmap(z=grid, x=["predicted positive", "predicted negative"],
                                  y=["labelled positive", "labelled negative"], text=grid,
                                  texttemplate="%{text}", colorscale="Blues", showscale=False))
    right.plotly_chart(figure.update_layout(title="Confusion matrix, out of fold"), use_container_width=True)

if can(user, Permission.ROLLBACK):
    st.subheader("Switch the active version", anchor=False)
    others = [v["version"] for v in versions if not v["active"]]
    if others:
        chosen = st.selectbox("Version", others[::-1])
        one, two = st.columns(2)
        one.button("Roll back to it", on_click=_switch, args=(chosen, "rollback"))
        two.button("Promote it (skip the gate)", on_click=_switch, args=(chosen, "promote"))
