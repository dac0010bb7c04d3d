"""gunicorn's settings, read from the working directory by every `gunicorn` run here (the
Procfiles, `make run`, the bench and the browser tests); the command line adds the rest."""

import gc


def post_worker_init(worker) -> None:
    """Once the worker has loaded the app: move everything alive now (modules, the app, its
    compiled templates and statements, about 190,000 objects) out of the cyclic garbage
    collector's reach. A full collection over them took 45–72 ms in-process, a stall for
    whichever requests were waiting; after `gc.freeze()` it takes microseconds. They are
    never garbage, so nothing is lost (reference counting still frees what is released)."""
    gc.freeze()
    if worker is not None:
        worker.log.info("froze %d objects out of the cyclic collector's reach",
                        gc.get_freeze_count())
