"""Nearby introductions between activists and the local events they organize (issue 5).

Everything here works on H3 cells: distances are between cell centres and shown only as
bands (geo/bands.py); nobody learns who someone is before both sides accept.
"""
