"""The dashboard's entry point: `newswh dashboard` runs this with `streamlit run`.

Reads only the Parquet lake (never warehouse.duckdb, which an ingest rewrites), through
the same views as the warehouse (newswh.lake_views). The page is picked in the sidebar,
above the filters every page applies.
"""

from __future__ import annotations

import duckdb
import streamlit as st

from newswh.dashboard.common import how_to_ingest, open_context
from newswh.dashboard.screens import crawl_quality, outlets, overview, stories
from newswh.lake_views import LakeIncomplete, read_failure

PAGES = {
    "Overview": overview.render,
    "Stories": stories.render,
    "Outlets": outlets.render,
    "Crawl quality": crawl_quality.render,
}

st.set_page_config(page_title="newswh", layout="wide")
page = st.sidebar.radio("Page", list(PAGES), key="page")
try:
    context = open_context()
    if context is None:
        how_to_ingest()
    else:
        PAGES[page](context)
except LakeIncomplete as error:  # the page showed a Python traceback, or an empty corpus
    st.error(str(error))
except duckdb.Error as error:
    st.error(read_failure(error))
