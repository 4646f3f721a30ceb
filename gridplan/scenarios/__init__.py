"""Every generator of scenario data, each record labelled ``generated`` and seeded: districts, registers, party
members and committees, service points, and the example scene of the docstrings.
"""
