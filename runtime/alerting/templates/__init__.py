"""Per-endpoint templates: sandboxed Jinja2 for what a channel says (an email's subject
and body, a Slack message's text, a webhook's JSON body). Pure: no I/O.

``catalog`` says which templates a channel takes and their format, ``formats`` how each
format writes a value safely, ``sandbox`` the bounded environment, ``variables`` what a
template sees, ``render`` compiling (the API's validation) and rendering (the sender and
the preview). docs/integrations.md "Templates" is the user's side of it.
"""
