"""The command that opens a plan in the editor: ``edit``."""

from __future__ import annotations

import webbrowser

from gridplan.editor.server import create_app, serve, token_for
from gridplan.editor.session import default_output, open_session
from gridplan.io.store import check_output, read_previous, redacted
from gridplan.vocabulary import word

from .common import prepared_of


def run_edit(args) -> None:
    token = token_for(args.host, args.token)  # beyond loopback, a token: the one given or a new one, printed
    previous = read_previous(args.plan)
    output = args.output or default_output(args.plan, previous.version + 1)
    check_output(output, "plan", [args.scene, args.plan])
    settings = previous.provenance.settings if previous.provenance is not None else None
    prepared = prepared_of(args, settings) if settings is not None else prepared_of(args)
    session = open_session(prepared, args.plan, previous=previous, journal=args.journal, author=args.author)
    app = create_app(session, output=output, token=token, lang=args.lang, host=args.host)
    print(word("editor_opened", args.lang, plan=args.plan, edits=session.seq, journal=session.journal))

    def ready(url: str) -> None:
        address = f"{url}?token={token}" if token else url
        print(word("editor_serving", args.lang, url=address, output=redacted(output)), flush=True)
        if not args.no_browser:
            webbrowser.open(address)

    serve(app, host=args.host, port=args.port, ready=ready)
