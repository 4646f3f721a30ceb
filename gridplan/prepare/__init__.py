"""A scene made ready to plan: validation and repair, community boundaries, and households from a register or a
roll (一标三实, 党员名册).
"""
