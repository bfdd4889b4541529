"""Live coupons: rules, redemption inside checkout, the service, room events, routes."""
