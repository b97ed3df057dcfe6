"""The Streamlit page's parts: view state <-> URL, cached queries, map, panels, style.

Data flows one way: the store -> `ui.data` (cached, read-only) -> pure tables
from `pipeline` -> widgets. Nothing here calls the API or writes the store.
"""
