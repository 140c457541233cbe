"""What doctor-visits and hospital-admissions share: one claims drop format, one sensor method.

Both indicators read daily aggregated claims drops ``[SYN]EDI_AGG_{OUTPATIENT,INPATIENT}_DDMMYYYY_HHMM<TZ>.csv.gz``
from a folder on an SFTP server (:mod:`.drops`), parse them strictly (:mod:`.reader`), map counties to every
geo level (:mod:`.regions`) and turn counts into smoothed percentages with standard errors (:mod:`.sensor`,
numba kernels in :mod:`.kernels`; the proportions themselves in :mod:`delphi_signals.estimators`). The two
indicator packages (``doctor_visits``, ``hospital_admissions``) hold only what differs.
"""
