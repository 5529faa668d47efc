"""The sync engine: ledger, send protocol, audit trail, replay, cursors and webhook inbox.

Written once for every flow. A flow says what to read, how to map it and what to write; the engine
makes every write effectively-once and explains what happened. Nothing here knows the job runner
(`ml_connector.runtime`) or a particular system (targets implement `engine.target.Target`).

For flow authors:
- register a factory per source connection kind: `engine.flows.register_flow(kind, factory)`; the
  factory gets a `FlowContext` (app, source connection, clock, retry policy) and returns a `Flow`
  (`streams`, `partition`, `overlap`, `poll`, `process`, `handle_inbox`, `webhook_status`);
- in `process`, get a writer for your target with `ctx.writer(target)` and call
  `writer.write(WriteIntent(source=SourceRecord(...), target_connection_id=..., entity=...,
  external_ref=..., payload=dict_or_builder, update=UpdateRule.NEVER | UpdateRule.ALWAYS |
  update_when(field, *values)))`, `writer.skip(source, reason)` for records you leave out, and
  `writer.link(source, entity)` for the target id of something written before (no call to the target).
"""
