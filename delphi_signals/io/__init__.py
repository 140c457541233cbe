"""The Delphi CSV export format: file names, a fast byte-exact writer, a strict reader, the archive differ
and delivery."""

from .archive import ArchiveDiffer
from .csv_reader import read_csvs, read_file
from .csv_writer import CSV_COLUMNS, CSV_MISSING_COLUMNS, atomic_write_bytes, write_csvs
from .delivery import deliver
from .filenames import ExportFile, format_filename, parse_filename

__all__ = [
    "ArchiveDiffer", "CSV_COLUMNS", "CSV_MISSING_COLUMNS", "ExportFile", "atomic_write_bytes", "deliver",
    "format_filename", "parse_filename", "read_csvs", "read_file", "write_csvs",
]
