"""Compare: how often the classifier, the LLM and the curators agree, what each costs per 1,000
items, and how much of the corpus the LLM has assessed and why."""

import streamlit as st

from curation.accounts.permissions import can
from curation.display.charts import bars, layered
from curation.display.safe_text import table_cells
from curation.enums import JobKind, Permission
from curation.errors import CurationError
from curation.jobs.submit import submit_as
from curation.llm.report import agreement_report
from db.session import session_scope
from pages.common import current_user, flash, show_flash, show_jobs

PAIRS = {"classifier_vs_curator": "Classifier vs curators", "llm_vs_curator": "LLM vs curators",
         "llm_vs_classifier": "LLM vs classifier"}
user = current_user()
st.title("Compare")
show_flash()


def _reason() -> None:
    try:
        params = {"limit": int(st.session_state["reason_limit"]),
                  "batch": bool(st.session_state["reason_batch"])}
        job, created = submit_as(current_user(), JobKind.REASON, params)
        flash(f"LLM assessments running as job #{job.id}" if created else f"job #{job.id} is already running")
    except CurationError as exc:
        flash(f"error: {exc}")


with session_scope() as session:
    report = agreement_report(session)

left, middle, right = st.columns([1, 1, 2])
left.number_input("Items to assess", 1, 10_000, 50, key="reason_limit")
middle.checkbox("By batch (half price, slower)", key="reason_batch",
                help="First steps go through the provider's batch API; results can take hours.")
right.button("Ask the LLM", on_click=_reason, disabled=not can(user, Permission.ADD_SOURCES),
             help="Runs ReAct assessments for items that have none yet, within the spending cap.")
show_jobs((JobKind.REASON,))

rates = [{"pair": title, "agreement": report[key]["rate"], "items": report[key]["n"]}
         for key, title in PAIRS.items() if report[key]["n"]]
if not rates:
    st.info("Nothing to compare yet: agreement needs items that at least two of the classifier, "
            "the LLM and the curators have labelled.")
else:
    columns = st.columns(len(PAIRS))
    for column, (key, title) in zip(columns, PAIRS.items(), strict=True):
        rate = report[key]["rate"]
        column.metric(title, f"{rate:.0%}" if rate is not None else "–", f"{report[key]['n']} items",
                      delta_color="off")
    chart = bars(rates, "pair:N", "agreement:Q", "Agreement rate (bar label: items compared)",
                 domain=(0, 1), tooltip=["items:Q"], level=True)
    st.altair_chart(layered(chart, chart.mark_text(dy=-8).encode(text="items:Q")), width="stretch")

usage = report["llm_usage"]
st.subheader("LLM cost and latency", anchor=False)
if not usage["assessments"]:
    st.info("No LLM assessments yet: press Ask the LLM (needs CURATION_LLM_PROVIDER and its API key).")
else:
    cost, latency, failed = st.columns(3)
    cost.metric("Cost per 1,000 items", f"${usage['cost_per_1000_items_usd']:.2f}")
    latency.metric("Latency p50", f"{usage['latency_ms_p50'] or 0:.0f} ms")
    failed.metric("Failed / evidence flagged", f"{usage['failed']} / {usage['evidence_flagged']}")
    st.json(usage, expanded=False)

coverage = report["coverage"]
st.subheader("What the LLM has seen", anchor=False)
seen, manual, auto = st.columns(3)
seen.metric("Corpus assessed", f"{coverage['share']:.1%}" if coverage["share"] is not None else "–",
            f"{coverage['assessed']} of {coverage['corpus']} items", delta_color="off")
manual.metric("Asked for (manual)", coverage["by_trigger"]["manual"])
auto_policy = coverage["auto"]
auto.metric("Uncertain, assessed automatically", coverage["by_trigger"]["auto"],
            f"band ±{auto_policy['band']}, ${auto_policy['spent_today_usd']:.2f} of "
            f"${auto_policy['daily_cap_usd']:.2f} today" if auto_policy["enabled"]
            else "CURATION_LLM_AUTO is off",
            delta_color="off")

costs = report["cost_per_1000_items"]
st.subheader("Cost per 1,000 items", anchor=False)
rows = [{"who": f"classifier ({costs['classifier']['device'] or 'not measured'})",
         "usd_per_1000_items": costs["classifier"]["usd"], "latency_ms_p50": None,
         "items_measured": costs["classifier"]["items"]}]
rows += [{"who": f"LLM, {mode}", "usd_per_1000_items": costs["llm"][mode]["usd"],
          "latency_ms_p50": costs["llm"][mode]["latency_ms_p50"],
          "items_measured": costs["llm"][mode]["items"]}
         for mode in ("synchronous", "batched", "cached")]
st.table(table_cells(rows), hide_index=True)  # no grid component to load (README)
st.caption(f"Classifier: measured scoring seconds x ${costs['classifier']['usd_per_hour']:.2f} per hour "
           "(CURATION_CLASSIFIER_USD_PER_HOUR). LLM: what the assessments were billed; "
           f"{costs['llm']['cache_read_share']:.0%} of prompt tokens were read from the cache.")
