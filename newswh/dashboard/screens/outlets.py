"""Outlets: who the site relays, and how that changed over time."""

from __future__ import annotations

import streamlit as st

from newswh.dashboard.common import Context, query


def render(context: Context) -> None:
    st.title("Outlets")
    by_month = query(context, "outlets_by_month")
    if by_month.empty:
        st.info("No article in this selection credits an outlet.")
    else:
        st.subheader("Articles per outlet and month")
        st.line_chart(by_month, x="month", y="articles", color="outlet")
    st.subheader("All outlets")
    st.dataframe(query(context, "outlets"), hide_index=True, width="stretch")
