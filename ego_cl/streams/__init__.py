"""User streams: ordering, overlap policies, clip samplers, transforms and the ordered loader.

Modules: ``overlap`` (recorded order, ``ignore`` / ``first_action`` / ``multi_action``),
``sampling`` (``UniformClipSampler``, ``RandomClipSampler``), ``stream`` (``build_user_stream``,
``UserStream``), ``transform`` (``EvalTransform``, ``TrainTransform``), ``cache`` (``ClipCache``)
and ``loader`` (``StreamLoader``). Video is seen only through ``ego_cl.protocols.StreamSource``.
"""
