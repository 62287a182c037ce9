"""Activity: decisions per curator and day, time per decision."""

import plotly.express as px
import streamlit as st

from curation.accounts.permissions import require
from curation.display.safe_text import rows_with_chart_text
from curation.enums import Permission
from curation.triage.activity import decisions_per_day, time_per_decision
from db.session import session_scope
from pages.common import current_user

st.title("Activity")
require(current_user(), Permission.VIEW)  # resolves the login even when run on its own
with session_scope() as session:
    per_day = decisions_per_day(session)
    timing = time_per_decision(session)
if not per_day:
    st.info("No decisions yet: triage some items on the Queue page.")
    st.stop()
st.plotly_chart(px.bar(rows_with_chart_text(per_day, "curator"), x="day", y="decisions", color="curator",
                       title="Decisions per day"), use_container_width=True)
if timing:
    st.plotly_chart(px.bar(rows_with_chart_text(timing, "curator"), x="curator", y=["median_s", "p90_s"],
                           barmode="group",
                           title="Seconds per decision", labels={"value": "seconds"}),
                    use_container_width=True)
    st.dataframe(timing, hide_index=True)
