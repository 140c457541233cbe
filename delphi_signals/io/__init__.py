"""The Delphi CSV export format: file names, a fast byte-exact writer, a strict reader, the archive differ
and delivery."""

from .archive import ArchiveDiffer
from .csv_reader import read_csvs, read_rows
from .csv_writer import CSV_COLUMNS, CSV_MISSING_COLUMNS, write_csvs
from .delivery import deliver
from .filenames import ExportFile, format_filename, parse_filename

__all__ = [
    "ArchiveDiffer", "CSV_COLUMNS", "CSV_MISSING_COLUMNS", "ExportFile", "deliver", "format_filename",
    "parse_filename", "read_csvs", "read_rows", "write_csvs",
]
