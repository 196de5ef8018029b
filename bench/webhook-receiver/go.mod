module herald-bench/webhookreceiver

go 1.22
