from pathlib import Path

from setuptools import find_packages, setup

EXTRAS = {
    "db": [],  # the database drivers are core dependencies now; kept so '.[db]' still installs
    "luigi": [],  # luigi is a core dependency now (the delphi-signals command); kept so '.[luigi]' still installs
    "geo": ["geopandas>=1.0", "shapely>=2.1", "pyogrio", "matplotlib"],
    "dask": ["dask[array]", "distributed"],
    "sftp": ["paramiko"],
    "api": ["fastapi>=0.110", "uvicorn>=0.29", "orjson>=3.9", "python-multipart", "gunicorn"],
    "s3": ["boto3"],  # the quidel bucket pull (imported lazily: the demo and `pip install -e .` need none)
    "s3fs": ["s3fs"],  # s3:// URLs for fsspec pulls
    "gcs": ["gcsfs"],
    "test": ["delphi-epidata==4.1.44", "pytest", "hypothesis", "nbval", "ipykernel", "numbagg", "bottleneck",
             "paramiko", "pytest-sftpserver", "setuptools>=70", "wheel", "moto[server]>=5",
             "selenium>=4.20"],  # drives the distribution's chromium + chromedriver (.ci/run installs them)
}
# everything a developer and CI need; the cloud-storage clients stay opt-in
EXTRAS["all"] = sorted({dep for name, deps in EXTRAS.items() if name not in ("s3fs", "gcs") for dep in deps})

setup(
    name="delphi-signals",
    version="0.1.0",
    description="Raw public-health data into versioned, validated epidemiological signals (COVIDcast-style)",
    long_description=Path(__file__).with_name("README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=[*find_packages(include=["delphi_signals", "delphi_signals.*", "luigi_tasks", "luigi_tasks.*"]),
              "delphi_signals._geodata"],
    # geodata/ stays at the top of the checkout; a wheel carries its tables inside the package
    package_dir={"delphi_signals._geodata": "geodata"},
    package_data={"delphi_signals._geodata": ["*.csv", "*.csv.gz", "shapes/*.geojson.gz", "README.md"]},
    exclude_package_data={"delphi_signals._geodata": ["*.py"]},
    install_requires=[
        "numpy>=1.26",
        "pandas>=2.2",
        "xarray>=2024.6",
        "numba>=0.60",
        "scipy>=1.11",
        "epiweeks>=2.3",
        "structlog>=24",
        "tqdm>=4.66",
        "fsspec[http]>=2024.6",
        "luigi>=3.7.3",  # the batch runner and the delphi-signals command
        "sqlalchemy>=2",  # the epidata database (SQLite embedded; MariaDB/MySQL through pymysql)
        "pymysql",
        "matplotlib",  # the nightly coverage, latency and revision plots
    ],
    extras_require=EXTRAS,
    entry_points={
        "console_scripts": ["delphi-signals=delphi_signals.__main__:main"],
        # every indicator declares itself once; the name is the source name (delphi_signals.indicators.registry)
        "delphi_signals.indicators": [
            "jhu-csse = delphi_signals.indicators.jhu:INDICATOR",
            "hhs = delphi_signals.indicators.hhs_hosp:INDICATOR",
            "nchs-mortality = delphi_signals.indicators.nchs_mortality:INDICATOR",
            "doctor-visits = delphi_signals.indicators.doctor_visits:INDICATOR",
            "hospital-admissions = delphi_signals.indicators.hospital_admissions:INDICATOR",
            "quidel = delphi_signals.indicators.quidel_covidtest:INDICATOR",
        ],
    },
)
