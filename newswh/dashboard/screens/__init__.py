"""One module per dashboard page, each with `render(context)` (not `pages/`: Streamlit would list
that folder's files as pages of their own)."""
