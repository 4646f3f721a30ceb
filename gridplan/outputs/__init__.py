"""What a person reads: the web map, the wall maps, the reports and the grid tables they share, and the approval
package of a comparison.
"""
