"""The Streamlit dashboard over the Parquet lake (`newswh dashboard`; the `dashboard` extra).

`queries` is plain Python (no Streamlit), so what a page shows can be checked against SQL;
`app.py` and `pages/` are the Streamlit scripts.
"""
