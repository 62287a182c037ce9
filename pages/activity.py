"""Activity: decisions per curator and day, time per decision, agreement between curators on the
overlap items, and when the guideline changed."""

import streamlit as st

from curation.accounts.permissions import require
from curation.display.charts import bars
from curation.display.safe_text import rows_with_chart_text
from curation.enums import Permission
from curation.triage.activity import decisions_per_day, guideline_changes, time_per_decision
from curation.triage.agreement import curator_agreement
from db.session import session_scope
from pages.common import current_user, show_table

CURATOR_COLUMNS = {"decisions_per_hour": "decisions / hour", "median_s": "median s", "p25_s": "p25 s",
                   "p75_s": "p75 s", "n_final": "shared items", "agrees_with_final": "agrees with final"}

st.title("Activity")
user = current_user()
require(user, Permission.VIEW)  # resolves the login even when run on its own
with session_scope() as session:
    per_day = decisions_per_day(session)
    timing = time_per_decision(session)
    agreement = curator_agreement(session, user)
    guidelines = guideline_changes(session)
if not per_day:
    st.info("No decisions yet: triage some items on the Queue page.")
    st.stop()
st.altair_chart(bars(rows_with_chart_text(per_day, "curator"), "utcyearmonthdate(day):T", "decisions:Q", "Decisions per day",
                     color="curator:N", x_title="day"), width="stretch")
if timing:
    st.altair_chart(bars(rows_with_chart_text(timing, "curator"), "curator:N", ["median_s", "p90_s"],
                         "Seconds per decision", y_title="seconds"), width="stretch")
    show_table(timing, "timing-page")

st.subheader("Agreement between curators", anchor=False)
overall = agreement["overall"]
if not overall["n"]:
    st.info("No item has been decided by two curators yet: set CURATION_OVERLAP (for example 0.1) "
            "to serve a share of the items to two curators independently.")
else:
    kappa = "undefined" if overall["kappa"] is None else f"{overall['kappa']:.2f}"
    st.caption(f"Overall: {overall['percent']:.0f} % agreement, Cohen's kappa {kappa}, "
               f"on {overall['n']} item pairs.")
    pairs = [{"pair": " & ".join(p["curators"]), "percent agreement": p["percent"],
              "kappa": p["kappa"], "items": p["n"]} for p in agreement["pairs"]]
    st.altair_chart(bars(rows_with_chart_text(pairs, "pair"), "pair:N", "kappa:Q",
                         "Cohen's kappa per pair of curators", domain=(-1, 1),
                         tooltip=["percent agreement:Q", "items:Q"]), width="stretch")
    show_table(pairs, "pairs-page")
if agreement["curators"]:
    show_table([{CURATOR_COLUMNS.get(column, column): value for column, value in row.items()}
                for row in agreement["curators"]], "curators-page")

if guidelines:
    st.subheader("Guideline versions", anchor=False)
    st.caption("Each row is a version of the task's guideline and the decisions made under it; "
               "a new row is when it changed.")
    show_table(guidelines, "guidelines-page")
