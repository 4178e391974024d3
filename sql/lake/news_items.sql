-- The news_items dataset: one file, every column.
select * from news_items
