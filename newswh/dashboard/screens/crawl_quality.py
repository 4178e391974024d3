"""Crawl quality: what the crawl damaged, and how the trailers and duplicates look."""

from __future__ import annotations

import streamlit as st

from newswh.dashboard.common import Context, query


def render(context: Context) -> None:
    st.title("Crawl quality")
    quality = query(context, "crawl_quality")

    st.subheader("Rejected files, by reason")
    st.caption("Rejects have no date or outlet: the filters do not apply to them.")
    st.dataframe(query(context, "reject_examples"), hide_index=True, width="stretch")

    st.subheader("Trailer statuses")
    st.dataframe(quality[quality["aspect"] == "related_status"].drop(columns="aspect"), hide_index=True, width="stretch")

    st.subheader("Declared vs real trailer length")
    st.dataframe(quality[quality["aspect"] == "trailer_length"].drop(columns="aspect"), hide_index=True, width="stretch")
    lengths = query(context, "trailer_lengths")
    if not lengths.empty:
        st.bar_chart(lengths, x="bytes_off", y="captures", x_label="real minus declared bytes")

    st.subheader("Duplicate captures")
    st.dataframe(quality[quality["aspect"] == "duplicate_captures"].drop(columns="aspect"), hide_index=True, width="stretch")
    st.dataframe(query(context, "duplicates"), hide_index=True, width="stretch")
