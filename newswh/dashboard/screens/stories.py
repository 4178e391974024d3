"""Stories: what the site linked most, and a search that opens an article."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from newswh.dashboard.common import Context, query


def open_article(article_id: str) -> None:
    st.session_state["article_id"] = article_id


def render(context: Context) -> None:
    st.title("Stories")

    article_id = st.session_state.get("article_id")
    if article_id:
        article = query(context, "article", unfiltered=True, article_id=article_id)
        if article.empty:
            st.warning("That article is no longer in the lake.")
        else:
            row = article.iloc[0]
            st.button("← Back to the search", on_click=open_article, args=("",), key="back")
            st.header(row["title"])
            published = "undated" if pd.isna(row["published_at"]) else f"{row['published_at']:%A %Y-%m-%d %H:%M}"
            st.caption(f"{published} · {row['attribution'] or 'no outlet credited'} · {row['word_count']:,} words")
            st.markdown(row["body"].replace("\n", "  \n"))
            st.subheader(f"Related stories ({row['related_count']})")
            related = query(context, "article_related", unfiltered=True, article_id=article_id)
            st.table(related.set_index("position"))
        return

    st.subheader("Search titles and bodies")
    term = st.text_input("Search", key="term", placeholder="e.g. Aleppo")
    if term:
        results = query(context, "search", term=term)
        st.caption(f"{len(results)} articles{' (the first 50)' if len(results) == 50 else ''} contain “{term}”.")
        for result in results.itertuples():
            published = "undated" if pd.isna(result.published_at) else f"{result.published_at:%Y-%m-%d}"
            st.button(result.title, key=f"open-{result.article_id}", on_click=open_article, args=(result.article_id,))
            st.caption(f"{published} · {result.hits} hits · {result.snippet}")

    st.subheader("Most-linked related stories, by month")
    most = query(context, "most_related")
    if most.empty:
        st.info("No related stories in this selection.")
    else:
        months = sorted(most["month"].unique(), reverse=True)
        month = st.selectbox("Month", months, format_func=lambda value: f"{pd.Timestamp(value):%B %Y}", key="month")
        st.dataframe(most[most["month"] == month].drop(columns="month"), hide_index=True, width="stretch")
