"""Who reaches whom, the parts of coverage (:mod:`gridplan.coverage` is their face): the walking network, the
15-minute service circle and new service points, party branches and member–household links.
"""
