"""The Delphi CSV export format: file names, a fast byte-exact writer and a strict reader."""

from .csv_reader import read_csvs, read_file, read_rows
from .csv_writer import CSV_COLUMNS, CSV_MISSING_COLUMNS, write_csvs
from .filenames import ExportFile, format_filename, parse_filename

__all__ = [
    "CSV_COLUMNS", "CSV_MISSING_COLUMNS", "ExportFile", "format_filename", "parse_filename",
    "read_csvs", "read_file", "read_rows", "write_csvs",
]
