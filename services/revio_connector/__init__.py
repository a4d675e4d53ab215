"""The Rev.io connector: the only code that talks HTTP to Rev.io.

Watchers turn Rev.io objects into `change.<tenant>.revio.*` facts (only when their content
changed), a webhook receiver makes them prompt, and command handlers execute
`cmd.<tenant>.revio.*` against Rev.io at most once each, answering on `result.*`.
"""
