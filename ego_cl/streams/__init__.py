"""User streams: ordering, overlap policies, clip samplers, transforms and the ordered loader.

Modules: ``overlap`` (recorded order, ``ignore`` / ``first_action`` / ``first_action_per_clip`` /
``multi_action``), ``sampling`` (``UniformClipSampler``, ``RandomClipSampler``; exact),
``upstream_sampling`` (``UpstreamUniformClipSampler``: the original's float arithmetic),
``stream`` (``build_user_stream``, ``UserStream``), ``from_config`` (``stream_from_config``),
``transform`` (``EvalTransform``, ``TrainTransform``), ``cache`` (``ClipCache``) and ``loader``
(``StreamLoader``). Video is seen only through ``ego_cl.protocols.StreamSource``.
"""
