-- The articles dataset: every column of `articles`, partitioned by publication year and month.
select year(published_at) as year, month(published_at) as month, * from articles
