"""Errors the business rules raise; every entry point turns them into one clear message."""


class BackorderError(Exception):
    """A request the rules refuse. Nothing has changed when it is raised."""


class UnknownSku(BackorderError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"unknown SKU {sku!r}")
        self.sku = sku


class UnknownOrder(BackorderError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"unknown order {ref!r}")
        self.ref = ref


class DuplicateSku(BackorderError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"SKU {sku!r} already exists")
        self.sku = sku


class InvalidRequest(BackorderError):
    """Input that breaks a rule (negative quantity, unknown line, ...)."""


class ImpossibleCancel(BackorderError):
    """A cancel asking for more than is still open on the line."""


class NotReadyToShip(BackorderError):
    """Nothing allocated, or a ship-complete order that still waits for units."""


class UnknownSupplier(BackorderError):
    def __init__(self, supplier: str) -> None:
        super().__init__(f"unknown supplier {supplier!r}")
        self.supplier = supplier


class UnknownLocation(BackorderError):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown location {code!r}: backorder location list shows them")
        self.code = code


class UnknownPurchaseOrder(BackorderError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"unknown purchase order {ref!r}")
        self.ref = ref


class UnknownTransfer(BackorderError):
    def __init__(self, transfer: int) -> None:
        super().__init__(f"unknown transfer {transfer}: backorder transfer list shows them")
        self.transfer = transfer


class TransferConflict(BackorderError):
    """A transfer step its state or the stock at its source does not allow (shipping one
    already shipped, moving units that are allocated)."""


class AlreadyExists(BackorderError):
    """A supplier or purchase order of that name is already known."""


class NothingToAnswer(BackorderError):
    """A delay answer for an order with no delay notice waiting for one."""


class UnknownTask(BackorderError):
    def __init__(self, task_id: int) -> None:
        super().__init__(f"unknown task {task_id}")
        self.task_id = task_id


class UnknownRecommendation(BackorderError):
    def __init__(self, recommendation: int) -> None:
        super().__init__(
            f"unknown recommendation {recommendation}: backorder replenish plan lists them"
        )
        self.recommendation = recommendation


class DecisionConflict(BackorderError):
    """A decision its subject no longer takes: a recommendation already decided, a purchase
    order already approved or rejected."""
