"""A layout held to what gridplan and the rules claim: every proof checked again independently (verify,
checking), two plans compared, a layout checked against every rule with its source (compliance).
"""
