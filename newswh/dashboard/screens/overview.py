"""Overview: how much there is, how fresh, whether the last run added up, and volume over time."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from newswh.dashboard.common import Context, query


def render(context: Context) -> None:
    st.title("Overview")
    totals = query(context, "overview").iloc[0]
    run = query(context, "last_run", unfiltered=True)

    articles, first, last_article, last = st.columns(4)
    articles.metric("Articles", f"{int(totals['articles']):,}")
    dated = not pd.isna(totals["first_published"])
    first.metric("First published", f"{totals['first_published']:%Y-%m-%d}" if dated else "–")
    last_article.metric("Last published", f"{totals['last_published']:%Y-%m-%d}" if dated else "–")
    if run.empty:
        last.metric("Last ingest run", "none recorded")
    else:
        row = run.iloc[0]
        conserved = bool(row["is_conserved"])  # null: the run never finished counting
        last.metric(
            "Last ingest run",
            f"#{row['run_id']}",
            "every file accounted for" if conserved else "files NOT accounted for",
            delta_color="green" if conserved else "red",
            delta_arrow="off",
        )
        st.caption(
            f"Run {row['run_id']} finished {row['finished_at']:%Y-%m-%d %H:%M:%S %Z}: {row['files_seen']:,} files seen, "
            f"{row['files_new']:,} new, {row['files_changed']:,} changed, {row['articles_written']:,} articles written, "
            f"{row['duplicates']:,} duplicates, {row['rejected']:,} rejected."
        )
    if totals["undated"]:
        undated = int(totals["undated"])
        st.caption(
            f"{undated:,} {'article carries' if undated == 1 else 'articles carry'} no date: "
            "counted above, absent from the charts by day and month."
        )

    st.subheader("Articles per day, with the 7-day rolling mean")
    daily = query(context, "daily_volume").rename(columns={"rolling_mean_7d": "7-day mean"})
    st.line_chart(daily, x="day", y=["articles", "7-day mean"])

    st.subheader("Media mix of the related stories, per month")
    mix = query(context, "media_mix")
    st.bar_chart(mix, x="month", y=["images", "videos", "others"])
