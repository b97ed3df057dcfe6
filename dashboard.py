"""Chicago shooting trends: `streamlit run dashboard.py`.

The page itself is `ui.page` (its sidebar `ui.sidebar`): Streamlit compiles this
script again on every rerun in tests (AppTest, twice a run), while imported modules
are compiled once, so the script stays a few lines.
"""

from ui.page import NOTE_NAME_LENGTH, NOTE_NAMES, main

__all__ = ["NOTE_NAMES", "NOTE_NAME_LENGTH", "main"]

if __name__ == "__main__":
    main()
