"""The feature catalog: reason groups, value kinds, drafting and checking, and the lender's phrase translations."""
