-- Which configured connection ("route") created each order (issue 13, live networks): with
-- several gateways reaching one cash network (dLocal, PayU and Kushki all collect at Efecty),
-- the cash network alone no longer says whom to ask about an order, to cancel it, or which
-- callback receiver speaks for it. Orders made before routes existed were all made through
-- the simulator.
ALTER TABLE payins ADD COLUMN route TEXT NOT NULL DEFAULT 'simulator';
ALTER TABLE payouts ADD COLUMN route TEXT NOT NULL DEFAULT 'simulator';
