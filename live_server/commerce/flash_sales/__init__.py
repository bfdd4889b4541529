"""commerce flash_sales."""
