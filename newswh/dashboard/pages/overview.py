"""Overview: how much there is, how fresh, whether the last run added up, and volume over time."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from newswh.dashboard.common import Context, query


def render(context: Context) -> None:
    st.title("Overview")
    totals = query(context, "overview").iloc[0]
    run = query(context, "last_run", unfiltered=True)

    articles, dates, last = st.columns(3)
    articles.metric("Articles", f"{int(totals['articles']):,}")
    if pd.isna(totals["first_published"]):
        dates.metric("Published", "no dated articles")
    else:
        dates.metric("Published", f"{totals['first_published']:%Y-%m-%d} – {totals['last_published']:%Y-%m-%d}")
    if run.empty:
        last.metric("Last ingest run", "none recorded")
    else:
        row = run.iloc[0]
        conserved = "every file accounted for" if row["is_conserved"] else "files NOT accounted for"
        last.metric("Last ingest run", f"#{row['run_id']}", conserved, delta_color="normal" if row["is_conserved"] else "inverse")
        st.caption(
            f"Run {row['run_id']} finished {row['finished_at']:%Y-%m-%d %H:%M:%S %Z}: {row['files_seen']:,} files seen, "
            f"{row['files_new']:,} new, {row['files_changed']:,} changed, {row['articles_written']:,} articles written, "
            f"{row['duplicates']:,} duplicates, {row['rejected']:,} rejected."
        )
    if totals["undated"]:
        st.caption(f"{int(totals['undated']):,} articles carry no date: counted above, absent from the charts by day and month.")

    st.subheader("Articles per day, with the 7-day rolling mean")
    daily = query(context, "daily_volume").rename(columns={"rolling_mean_7d": "7-day mean"})
    st.line_chart(daily, x="day", y=["articles", "7-day mean"])

    st.subheader("Media mix of the related stories, per month")
    mix = query(context, "media_mix")
    st.bar_chart(mix, x="month", y=["images", "videos", "others"])
